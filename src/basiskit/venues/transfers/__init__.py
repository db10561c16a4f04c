"""Fund transfers between venues: bridge protocols (:mod:`.bridges`), the transfer manager's state
machine with retries and idempotent steps (:mod:`.manager`) and a simulated transfer network for
backtests and tests (:mod:`.sim`). The state table itself is :mod:`basiskit.domain.transfer_ops`."""
