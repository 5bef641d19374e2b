"""The client side: everything the CLI and the demo do, over HTTP only.

Encryption, signing and verification happen here, on the user's machine; the
server only ever receives ciphertext, public keys and signatures.
"""
