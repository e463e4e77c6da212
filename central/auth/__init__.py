"""Hub users: login (bearer tokens and page sessions), passwords, the bureau's own accounts."""
