#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Stands in for a validator that is not installed: skip (77) and say which.
echo "$1 is not installed (./scripts/deps installs it); skipping"
exit 77
