"""Integrations: webhooks that tell other systems what happened in the CRM (SPEC §9)."""
