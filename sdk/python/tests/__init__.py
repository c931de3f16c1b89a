"""Tests of the Python SDK: unit tests against a local fake API, and end-to-end tests against `npm start`."""
