"""Owners and refresh tokens the token store's behaviour tests share."""

OWNER = "connection:conn_abc"
OTHER = "connection:conn_xyz"
TOKEN = "1//0gRefreshTokenExample-abcdefghijklmnopqrstuvwxyz0123456789"
NEW_TOKEN = "1//0hAnotherRefreshToken-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210"
