"""Knowledge: parsing, chunking, embedding, indexing and retrieval of source documents."""
