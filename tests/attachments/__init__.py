"""Tests of the attachments plugin (plugins/attachments), one module per module."""
