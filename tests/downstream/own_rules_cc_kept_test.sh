#!/usr/bin/env bash
# Building this test needed @rules_cc//:declared_by_mxkit_downstream, which only
# this workspace's own rules_cc has; the check is that Bazel could build it.
# Say which rules_cc answered, for the log.
echo "rules_cc in use: the one mxkit_downstream's deps macro declared"
