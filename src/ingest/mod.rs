//! The drop folder: scanning and watching the inbox, settle time, hashing, the atomic load, moving files.
