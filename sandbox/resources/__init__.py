"""Local stand-ins for the services that trigger functions or receive destinations."""
