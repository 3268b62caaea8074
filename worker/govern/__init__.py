"""Govern: proposals from refinement, approval by named leaders, and review tasks in the CRM."""
