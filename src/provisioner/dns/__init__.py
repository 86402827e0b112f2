"""DNS failover for SIP phones: records built from the estate (`records`), served by an
embedded authoritative server (`server`), exported, transferred and pushed to real DNS."""
