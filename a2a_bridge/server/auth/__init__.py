"""Who the caller is: bearer secrets, OAuth2 access tokens, and the scopes a skill asks for."""
