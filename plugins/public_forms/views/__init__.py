"""The portal's routes, one module per part of the applicant's journey."""
