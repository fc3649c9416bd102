//! Claiming due recipients with `FOR UPDATE SKIP LOCKED` under a lease, batched completion fenced by the lease token, and lease rescue.
