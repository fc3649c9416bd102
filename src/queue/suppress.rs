//! The opt-out list: add, remove, list, import, and the checks at load and send time.
