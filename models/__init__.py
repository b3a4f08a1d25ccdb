"""Boljam forecasting models: features, trainers, baselines, metrics and backtests."""
