"""AAVE v3 on a local chain: the npm toolchain (anvil, AAVE's compiled contracts, solc), a Python
deploy of an AAVE v3 market from those artifacts, the chain's clock and rates driven from the data, and
a web3.py adapter that sends supply / withdraw / borrow / repay / E-mode and a flash-loan loop as one
transaction. Nothing here talks to anything but a node on 127.0.0.1 that the caller started."""
