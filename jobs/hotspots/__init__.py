"""Emerging hot spot analysis of H3 cell x week incident counts (Getis-Ord Gi*, Mann-Kendall)."""
