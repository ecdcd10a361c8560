"""Push notifications: which webhook URLs a caller may register, and delivering task updates to them."""
