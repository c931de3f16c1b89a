"""The package version, sent in User-Agent."""
VERSION = "0.1.0"
