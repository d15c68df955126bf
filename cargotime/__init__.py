"""Time travel for event-sourced cargos, in the Django admin."""
