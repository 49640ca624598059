"""Push delivery: the transport contract and the dispatcher that drives transports."""
