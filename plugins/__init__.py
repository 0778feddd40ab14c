"""First-party plugins (import name `assistant_plugins`), registered through the same
`assistant` entry-point group and hooks a third-party plugin uses."""
