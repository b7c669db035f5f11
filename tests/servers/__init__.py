"""Real local servers that stand in for outside services during tests."""
