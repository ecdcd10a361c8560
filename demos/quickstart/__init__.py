"""The quickstart: one runner served over A2A and called over real HTTP."""
