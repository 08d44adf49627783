"""okx_strategies: what each strategy wants, as pure functions of the venue's state."""
