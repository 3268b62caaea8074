"""Ingest: pull CRM records incrementally, map them to canonical fields, import evidence from CSV."""
