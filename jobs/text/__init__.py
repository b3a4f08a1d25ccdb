"""Text jobs: citizen appeals triage and media monitoring in Kazakh and Russian."""
