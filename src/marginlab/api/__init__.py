"""The paper venue's HTTP front end: Binance USDⓈ-M paths and shapes over :mod:`marginlab.venue`."""
