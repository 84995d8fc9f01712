"""Where the views live: schema, SQL dialects, the SQLite and PostgreSQL views databases,
the SQLite connection factory, file helpers and the paused collector."""
