//! Loading a whole campaign in one transaction: the campaign row, its media, and its recipients through COPY.
