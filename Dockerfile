# Guichet's production image: the same Makefile steps as `make run`, served by gunicorn.
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends libmagic1 make nodejs npm \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/guichet
COPY . .
RUN make install && rm -rf node_modules

ENV GUICHET_ENV=production PATH="/srv/guichet/.venv/bin:$PATH"
EXPOSE 8000
CMD ["gunicorn", "--workers", "4", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "app:create_app()"]
