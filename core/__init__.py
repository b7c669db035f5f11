"""The foundation every part of wirewatch stands on: settings, errors, the query
language, the address policy. It imports no other part of the project, so any
part may import it."""
