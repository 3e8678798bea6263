"""The simulated Booster: logged devices, its timing system and a local stand-in for the ACL
gateway. It imports the real interfaces from `acnet/`; `acnet/` never imports it."""
