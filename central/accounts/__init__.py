"""The hub as the federation's account authority: province administrators, quotas,
resets, disable and delete by signed directive; the national account directory;
one contractor account per USCC nationally."""
