"""The right to erasure, and a suppression that holds (SPEC 3, docs/consent.md).

- keyed_hash: the HMAC-SHA256 of a normalised contact, the only form a suppression keeps;
- registry: the durable record of suppressions, requests and their audit (SQLite beside the
  API inbox, so the service and a running reconcile never wait on the warehouse);
- enforce: leaves out the observations of suppressed contacts where observations are stored;
- purge_warehouse, purge_files: remove a contact from the warehouse and the files written;
- apply: runs queued erasures (every run starts with it); search: finds a contact anywhere.
"""
