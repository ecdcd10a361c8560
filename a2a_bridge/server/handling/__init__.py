"""The request handler every binding calls: it checks the input, guards the request and hands the turn to turns/."""
