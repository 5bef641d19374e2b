"""Use cases. Each public function is one unit of work: it opens the transaction,
changes the model, appends the ledger entry that records the change, and commits
both or neither. Adapters (API, CLI admin) call these and never commit."""
