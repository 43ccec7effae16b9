"""Throwaway servers from Debian's packages, started on free ports in temp folders for one test run."""
