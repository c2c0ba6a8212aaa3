"""nucleate.studies: published studies reproduced from one command (`nucleate reproduce NAME`)."""
