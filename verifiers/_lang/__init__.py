"""Private parts of the language-consistency reward (`verifiers.language`): scripts, masking, lexicons, langdetect."""
