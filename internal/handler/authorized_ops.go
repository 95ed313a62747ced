package handler

import "math"

// Authorized operations. Sluice has no authorizer, so, as Kafka without
// one, a client that asks what it may do with a resource is told every
// operation the resource type supports (Kafka's AclEntry
// supportedOperations), as a bit field of ACL operation codes. Unasked,
// the field is Int32.MinValue.
const (
	authorizedOpsNone = math.MinInt32

	aclRead            = 3
	aclWrite           = 4
	aclCreate          = 5
	aclDelete          = 6
	aclAlter           = 7
	aclDescribe        = 8
	aclClusterAction   = 9
	aclDescribeConfigs = 10
	aclAlterConfigs    = 11
	aclIdempotentWrite = 12

	topicOps = 1<<aclRead | 1<<aclWrite | 1<<aclCreate | 1<<aclDescribe | 1<<aclDelete |
		1<<aclAlter | 1<<aclDescribeConfigs | 1<<aclAlterConfigs
	clusterOps = 1<<aclCreate | 1<<aclClusterAction | 1<<aclDescribeConfigs | 1<<aclAlterConfigs |
		1<<aclIdempotentWrite | 1<<aclAlter | 1<<aclDescribe
	groupOps = 1<<aclRead | 1<<aclDescribe | 1<<aclDelete
)

// authorizedOps is ops when the client asked for them, else
// authorizedOpsNone.
func authorizedOps(asked bool, ops int32) int32 {
	if asked {
		return ops
	}
	return authorizedOpsNone
}
