package protocol

import "strconv"

// ErrorCode is a Kafka protocol error code as carried in responses.
//
// ErrorCode implements error, so a code can be returned and wrapped like any
// other error. ErrNone (0) means success and should not be returned as an
// error.
type ErrorCode int16

// Kafka protocol error codes.
//
// The codes, their names and their retriability mirror the Errors enum in
// Apache Kafka's clients/src/main/java/org/apache/kafka/common/protocol/Errors.java
// as of commit 1eb7644349cb07139d6a3c1ad1986979647cac99 (trunk, 4.0.0-SNAPSHOT,
// 2024-10-25). The 3.9 branch (commit c821449fb7c1e2c0f398eeb5cfc4a8abc210c0a4)
// defines codes -1..127 identically; INVALID_REGULAR_EXPRESSION (128) was added
// on trunk after 3.9 branched. Kafka never reuses a code, so newer codes are
// safe to know about.
//
// Go names are Kafka's constant names in CamelCase with an "Err" prefix
// (ID is kept as an initialism). The comment on each constant names the Java
// exception class Kafka maps the code to.
const (
	ErrUnknownServerError                 ErrorCode = -1  // UnknownServerException
	ErrNone                               ErrorCode = 0   // success: no exception class
	ErrOffsetOutOfRange                   ErrorCode = 1   // OffsetOutOfRangeException
	ErrCorruptMessage                     ErrorCode = 2   // CorruptRecordException
	ErrUnknownTopicOrPartition            ErrorCode = 3   // UnknownTopicOrPartitionException
	ErrInvalidFetchSize                   ErrorCode = 4   // InvalidFetchSizeException
	ErrLeaderNotAvailable                 ErrorCode = 5   // LeaderNotAvailableException
	ErrNotLeaderOrFollower                ErrorCode = 6   // NotLeaderOrFollowerException
	ErrRequestTimedOut                    ErrorCode = 7   // TimeoutException
	ErrBrokerNotAvailable                 ErrorCode = 8   // BrokerNotAvailableException
	ErrReplicaNotAvailable                ErrorCode = 9   // ReplicaNotAvailableException
	ErrMessageTooLarge                    ErrorCode = 10  // RecordTooLargeException
	ErrStaleControllerEpoch               ErrorCode = 11  // ControllerMovedException
	ErrOffsetMetadataTooLarge             ErrorCode = 12  // OffsetMetadataTooLarge
	ErrNetworkException                   ErrorCode = 13  // NetworkException
	ErrCoordinatorLoadInProgress          ErrorCode = 14  // CoordinatorLoadInProgressException
	ErrCoordinatorNotAvailable            ErrorCode = 15  // CoordinatorNotAvailableException
	ErrNotCoordinator                     ErrorCode = 16  // NotCoordinatorException
	ErrInvalidTopicException              ErrorCode = 17  // InvalidTopicException
	ErrRecordListTooLarge                 ErrorCode = 18  // RecordBatchTooLargeException
	ErrNotEnoughReplicas                  ErrorCode = 19  // NotEnoughReplicasException
	ErrNotEnoughReplicasAfterAppend       ErrorCode = 20  // NotEnoughReplicasAfterAppendException
	ErrInvalidRequiredAcks                ErrorCode = 21  // InvalidRequiredAcksException
	ErrIllegalGeneration                  ErrorCode = 22  // IllegalGenerationException
	ErrInconsistentGroupProtocol          ErrorCode = 23  // InconsistentGroupProtocolException
	ErrInvalidGroupID                     ErrorCode = 24  // InvalidGroupIdException
	ErrUnknownMemberID                    ErrorCode = 25  // UnknownMemberIdException
	ErrInvalidSessionTimeout              ErrorCode = 26  // InvalidSessionTimeoutException
	ErrRebalanceInProgress                ErrorCode = 27  // RebalanceInProgressException
	ErrInvalidCommitOffsetSize            ErrorCode = 28  // InvalidCommitOffsetSizeException
	ErrTopicAuthorizationFailed           ErrorCode = 29  // TopicAuthorizationException
	ErrGroupAuthorizationFailed           ErrorCode = 30  // GroupAuthorizationException
	ErrClusterAuthorizationFailed         ErrorCode = 31  // ClusterAuthorizationException
	ErrInvalidTimestamp                   ErrorCode = 32  // InvalidTimestampException
	ErrUnsupportedSaslMechanism           ErrorCode = 33  // UnsupportedSaslMechanismException
	ErrIllegalSaslState                   ErrorCode = 34  // IllegalSaslStateException
	ErrUnsupportedVersion                 ErrorCode = 35  // UnsupportedVersionException
	ErrTopicAlreadyExists                 ErrorCode = 36  // TopicExistsException
	ErrInvalidPartitions                  ErrorCode = 37  // InvalidPartitionsException
	ErrInvalidReplicationFactor           ErrorCode = 38  // InvalidReplicationFactorException
	ErrInvalidReplicaAssignment           ErrorCode = 39  // InvalidReplicaAssignmentException
	ErrInvalidConfig                      ErrorCode = 40  // InvalidConfigurationException
	ErrNotController                      ErrorCode = 41  // NotControllerException
	ErrInvalidRequest                     ErrorCode = 42  // InvalidRequestException
	ErrUnsupportedForMessageFormat        ErrorCode = 43  // UnsupportedForMessageFormatException
	ErrPolicyViolation                    ErrorCode = 44  // PolicyViolationException
	ErrOutOfOrderSequenceNumber           ErrorCode = 45  // OutOfOrderSequenceException
	ErrDuplicateSequenceNumber            ErrorCode = 46  // DuplicateSequenceException
	ErrInvalidProducerEpoch               ErrorCode = 47  // InvalidProducerEpochException
	ErrInvalidTxnState                    ErrorCode = 48  // InvalidTxnStateException
	ErrInvalidProducerIDMapping           ErrorCode = 49  // InvalidPidMappingException
	ErrInvalidTransactionTimeout          ErrorCode = 50  // InvalidTxnTimeoutException
	ErrConcurrentTransactions             ErrorCode = 51  // ConcurrentTransactionsException
	ErrTransactionCoordinatorFenced       ErrorCode = 52  // TransactionCoordinatorFencedException
	ErrTransactionalIDAuthorizationFailed ErrorCode = 53  // TransactionalIdAuthorizationException
	ErrSecurityDisabled                   ErrorCode = 54  // SecurityDisabledException
	ErrOperationNotAttempted              ErrorCode = 55  // OperationNotAttemptedException
	ErrKafkaStorageError                  ErrorCode = 56  // KafkaStorageException
	ErrLogDirNotFound                     ErrorCode = 57  // LogDirNotFoundException
	ErrSaslAuthenticationFailed           ErrorCode = 58  // SaslAuthenticationException
	ErrUnknownProducerID                  ErrorCode = 59  // UnknownProducerIdException
	ErrReassignmentInProgress             ErrorCode = 60  // ReassignmentInProgressException
	ErrDelegationTokenAuthDisabled        ErrorCode = 61  // DelegationTokenDisabledException
	ErrDelegationTokenNotFound            ErrorCode = 62  // DelegationTokenNotFoundException
	ErrDelegationTokenOwnerMismatch       ErrorCode = 63  // DelegationTokenOwnerMismatchException
	ErrDelegationTokenRequestNotAllowed   ErrorCode = 64  // UnsupportedByAuthenticationException
	ErrDelegationTokenAuthorizationFailed ErrorCode = 65  // DelegationTokenAuthorizationException
	ErrDelegationTokenExpired             ErrorCode = 66  // DelegationTokenExpiredException
	ErrInvalidPrincipalType               ErrorCode = 67  // InvalidPrincipalTypeException
	ErrNonEmptyGroup                      ErrorCode = 68  // GroupNotEmptyException
	ErrGroupIDNotFound                    ErrorCode = 69  // GroupIdNotFoundException
	ErrFetchSessionIDNotFound             ErrorCode = 70  // FetchSessionIdNotFoundException
	ErrInvalidFetchSessionEpoch           ErrorCode = 71  // InvalidFetchSessionEpochException
	ErrListenerNotFound                   ErrorCode = 72  // ListenerNotFoundException
	ErrTopicDeletionDisabled              ErrorCode = 73  // TopicDeletionDisabledException
	ErrFencedLeaderEpoch                  ErrorCode = 74  // FencedLeaderEpochException
	ErrUnknownLeaderEpoch                 ErrorCode = 75  // UnknownLeaderEpochException
	ErrUnsupportedCompressionType         ErrorCode = 76  // UnsupportedCompressionTypeException
	ErrStaleBrokerEpoch                   ErrorCode = 77  // StaleBrokerEpochException
	ErrOffsetNotAvailable                 ErrorCode = 78  // OffsetNotAvailableException
	ErrMemberIDRequired                   ErrorCode = 79  // MemberIdRequiredException
	ErrPreferredLeaderNotAvailable        ErrorCode = 80  // PreferredLeaderNotAvailableException
	ErrGroupMaxSizeReached                ErrorCode = 81  // GroupMaxSizeReachedException
	ErrFencedInstanceID                   ErrorCode = 82  // FencedInstanceIdException
	ErrEligibleLeadersNotAvailable        ErrorCode = 83  // EligibleLeadersNotAvailableException
	ErrElectionNotNeeded                  ErrorCode = 84  // ElectionNotNeededException
	ErrNoReassignmentInProgress           ErrorCode = 85  // NoReassignmentInProgressException
	ErrGroupSubscribedToTopic             ErrorCode = 86  // GroupSubscribedToTopicException
	ErrInvalidRecord                      ErrorCode = 87  // InvalidRecordException
	ErrUnstableOffsetCommit               ErrorCode = 88  // UnstableOffsetCommitException
	ErrThrottlingQuotaExceeded            ErrorCode = 89  // ThrottlingQuotaExceededException
	ErrProducerFenced                     ErrorCode = 90  // ProducerFencedException
	ErrResourceNotFound                   ErrorCode = 91  // ResourceNotFoundException
	ErrDuplicateResource                  ErrorCode = 92  // DuplicateResourceException
	ErrUnacceptableCredential             ErrorCode = 93  // UnacceptableCredentialException
	ErrInconsistentVoterSet               ErrorCode = 94  // InconsistentVoterSetException
	ErrInvalidUpdateVersion               ErrorCode = 95  // InvalidUpdateVersionException
	ErrFeatureUpdateFailed                ErrorCode = 96  // FeatureUpdateFailedException
	ErrPrincipalDeserializationFailure    ErrorCode = 97  // PrincipalDeserializationException
	ErrSnapshotNotFound                   ErrorCode = 98  // SnapshotNotFoundException
	ErrPositionOutOfRange                 ErrorCode = 99  // PositionOutOfRangeException
	ErrUnknownTopicID                     ErrorCode = 100 // UnknownTopicIdException
	ErrDuplicateBrokerRegistration        ErrorCode = 101 // DuplicateBrokerRegistrationException
	ErrBrokerIDNotRegistered              ErrorCode = 102 // BrokerIdNotRegisteredException
	ErrInconsistentTopicID                ErrorCode = 103 // InconsistentTopicIdException
	ErrInconsistentClusterID              ErrorCode = 104 // InconsistentClusterIdException
	ErrTransactionalIDNotFound            ErrorCode = 105 // TransactionalIdNotFoundException
	ErrFetchSessionTopicIDError           ErrorCode = 106 // FetchSessionTopicIdException
	ErrIneligibleReplica                  ErrorCode = 107 // IneligibleReplicaException
	ErrNewLeaderElected                   ErrorCode = 108 // NewLeaderElectedException
	ErrOffsetMovedToTieredStorage         ErrorCode = 109 // OffsetMovedToTieredStorageException
	ErrFencedMemberEpoch                  ErrorCode = 110 // FencedMemberEpochException
	ErrUnreleasedInstanceID               ErrorCode = 111 // UnreleasedInstanceIdException
	ErrUnsupportedAssignor                ErrorCode = 112 // UnsupportedAssignorException
	ErrStaleMemberEpoch                   ErrorCode = 113 // StaleMemberEpochException
	ErrMismatchedEndpointType             ErrorCode = 114 // MismatchedEndpointTypeException
	ErrUnsupportedEndpointType            ErrorCode = 115 // UnsupportedEndpointTypeException
	ErrUnknownControllerID                ErrorCode = 116 // UnknownControllerIdException
	ErrUnknownSubscriptionID              ErrorCode = 117 // UnknownSubscriptionIdException
	ErrTelemetryTooLarge                  ErrorCode = 118 // TelemetryTooLargeException
	ErrInvalidRegistration                ErrorCode = 119 // InvalidRegistrationException
	ErrTransactionAbortable               ErrorCode = 120 // TransactionAbortableException
	ErrInvalidRecordState                 ErrorCode = 121 // InvalidRecordStateException
	ErrShareSessionNotFound               ErrorCode = 122 // ShareSessionNotFoundException
	ErrInvalidShareSessionEpoch           ErrorCode = 123 // InvalidShareSessionEpochException
	ErrFencedStateEpoch                   ErrorCode = 124 // FencedStateEpochException
	ErrInvalidVoterKey                    ErrorCode = 125 // InvalidVoterKeyException
	ErrDuplicateVoter                     ErrorCode = 126 // DuplicateVoterException
	ErrVoterNotFound                      ErrorCode = 127 // VoterNotFoundException
	ErrInvalidRegularExpression           ErrorCode = 128 // InvalidRegularExpression
)

// errorCodeInfo is one row of the error-code table.
type errorCodeInfo struct {
	code ErrorCode
	name string // Kafka's constant name
	// retriable is true exactly when the code's Java exception class extends
	// org.apache.kafka.common.errors.RetriableException, directly or through a
	// superclass such as InvalidMetadataException.
	retriable bool
}

// errorCodeTable lists every known code in ascending order.
var errorCodeTable = [...]errorCodeInfo{
	{ErrUnknownServerError, "UNKNOWN_SERVER_ERROR", false},
	{ErrNone, "NONE", false},
	{ErrOffsetOutOfRange, "OFFSET_OUT_OF_RANGE", false},
	{ErrCorruptMessage, "CORRUPT_MESSAGE", true},
	{ErrUnknownTopicOrPartition, "UNKNOWN_TOPIC_OR_PARTITION", true},
	{ErrInvalidFetchSize, "INVALID_FETCH_SIZE", false},
	{ErrLeaderNotAvailable, "LEADER_NOT_AVAILABLE", true},
	{ErrNotLeaderOrFollower, "NOT_LEADER_OR_FOLLOWER", true},
	{ErrRequestTimedOut, "REQUEST_TIMED_OUT", true},
	{ErrBrokerNotAvailable, "BROKER_NOT_AVAILABLE", false},
	{ErrReplicaNotAvailable, "REPLICA_NOT_AVAILABLE", true},
	{ErrMessageTooLarge, "MESSAGE_TOO_LARGE", false},
	{ErrStaleControllerEpoch, "STALE_CONTROLLER_EPOCH", false},
	{ErrOffsetMetadataTooLarge, "OFFSET_METADATA_TOO_LARGE", false},
	{ErrNetworkException, "NETWORK_EXCEPTION", true},
	{ErrCoordinatorLoadInProgress, "COORDINATOR_LOAD_IN_PROGRESS", true},
	{ErrCoordinatorNotAvailable, "COORDINATOR_NOT_AVAILABLE", true},
	{ErrNotCoordinator, "NOT_COORDINATOR", true},
	{ErrInvalidTopicException, "INVALID_TOPIC_EXCEPTION", false},
	{ErrRecordListTooLarge, "RECORD_LIST_TOO_LARGE", false},
	{ErrNotEnoughReplicas, "NOT_ENOUGH_REPLICAS", true},
	{ErrNotEnoughReplicasAfterAppend, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", true},
	{ErrInvalidRequiredAcks, "INVALID_REQUIRED_ACKS", false},
	{ErrIllegalGeneration, "ILLEGAL_GENERATION", false},
	{ErrInconsistentGroupProtocol, "INCONSISTENT_GROUP_PROTOCOL", false},
	{ErrInvalidGroupID, "INVALID_GROUP_ID", false},
	{ErrUnknownMemberID, "UNKNOWN_MEMBER_ID", false},
	{ErrInvalidSessionTimeout, "INVALID_SESSION_TIMEOUT", false},
	{ErrRebalanceInProgress, "REBALANCE_IN_PROGRESS", false},
	{ErrInvalidCommitOffsetSize, "INVALID_COMMIT_OFFSET_SIZE", false},
	{ErrTopicAuthorizationFailed, "TOPIC_AUTHORIZATION_FAILED", false},
	{ErrGroupAuthorizationFailed, "GROUP_AUTHORIZATION_FAILED", false},
	{ErrClusterAuthorizationFailed, "CLUSTER_AUTHORIZATION_FAILED", false},
	{ErrInvalidTimestamp, "INVALID_TIMESTAMP", false},
	{ErrUnsupportedSaslMechanism, "UNSUPPORTED_SASL_MECHANISM", false},
	{ErrIllegalSaslState, "ILLEGAL_SASL_STATE", false},
	{ErrUnsupportedVersion, "UNSUPPORTED_VERSION", false},
	{ErrTopicAlreadyExists, "TOPIC_ALREADY_EXISTS", false},
	{ErrInvalidPartitions, "INVALID_PARTITIONS", false},
	{ErrInvalidReplicationFactor, "INVALID_REPLICATION_FACTOR", false},
	{ErrInvalidReplicaAssignment, "INVALID_REPLICA_ASSIGNMENT", false},
	{ErrInvalidConfig, "INVALID_CONFIG", false},
	{ErrNotController, "NOT_CONTROLLER", true},
	{ErrInvalidRequest, "INVALID_REQUEST", false},
	{ErrUnsupportedForMessageFormat, "UNSUPPORTED_FOR_MESSAGE_FORMAT", false},
	{ErrPolicyViolation, "POLICY_VIOLATION", false},
	{ErrOutOfOrderSequenceNumber, "OUT_OF_ORDER_SEQUENCE_NUMBER", false},
	{ErrDuplicateSequenceNumber, "DUPLICATE_SEQUENCE_NUMBER", false},
	{ErrInvalidProducerEpoch, "INVALID_PRODUCER_EPOCH", false},
	{ErrInvalidTxnState, "INVALID_TXN_STATE", false},
	{ErrInvalidProducerIDMapping, "INVALID_PRODUCER_ID_MAPPING", false},
	{ErrInvalidTransactionTimeout, "INVALID_TRANSACTION_TIMEOUT", false},
	{ErrConcurrentTransactions, "CONCURRENT_TRANSACTIONS", true},
	{ErrTransactionCoordinatorFenced, "TRANSACTION_COORDINATOR_FENCED", false},
	{ErrTransactionalIDAuthorizationFailed, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", false},
	{ErrSecurityDisabled, "SECURITY_DISABLED", false},
	{ErrOperationNotAttempted, "OPERATION_NOT_ATTEMPTED", false},
	{ErrKafkaStorageError, "KAFKA_STORAGE_ERROR", true},
	{ErrLogDirNotFound, "LOG_DIR_NOT_FOUND", false},
	{ErrSaslAuthenticationFailed, "SASL_AUTHENTICATION_FAILED", false},
	{ErrUnknownProducerID, "UNKNOWN_PRODUCER_ID", false},
	{ErrReassignmentInProgress, "REASSIGNMENT_IN_PROGRESS", false},
	{ErrDelegationTokenAuthDisabled, "DELEGATION_TOKEN_AUTH_DISABLED", false},
	{ErrDelegationTokenNotFound, "DELEGATION_TOKEN_NOT_FOUND", false},
	{ErrDelegationTokenOwnerMismatch, "DELEGATION_TOKEN_OWNER_MISMATCH", false},
	{ErrDelegationTokenRequestNotAllowed, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", false},
	{ErrDelegationTokenAuthorizationFailed, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", false},
	{ErrDelegationTokenExpired, "DELEGATION_TOKEN_EXPIRED", false},
	{ErrInvalidPrincipalType, "INVALID_PRINCIPAL_TYPE", false},
	{ErrNonEmptyGroup, "NON_EMPTY_GROUP", false},
	{ErrGroupIDNotFound, "GROUP_ID_NOT_FOUND", false},
	{ErrFetchSessionIDNotFound, "FETCH_SESSION_ID_NOT_FOUND", true},
	{ErrInvalidFetchSessionEpoch, "INVALID_FETCH_SESSION_EPOCH", true},
	{ErrListenerNotFound, "LISTENER_NOT_FOUND", true},
	{ErrTopicDeletionDisabled, "TOPIC_DELETION_DISABLED", false},
	{ErrFencedLeaderEpoch, "FENCED_LEADER_EPOCH", true},
	{ErrUnknownLeaderEpoch, "UNKNOWN_LEADER_EPOCH", true},
	{ErrUnsupportedCompressionType, "UNSUPPORTED_COMPRESSION_TYPE", false},
	{ErrStaleBrokerEpoch, "STALE_BROKER_EPOCH", false},
	{ErrOffsetNotAvailable, "OFFSET_NOT_AVAILABLE", true},
	{ErrMemberIDRequired, "MEMBER_ID_REQUIRED", false},
	{ErrPreferredLeaderNotAvailable, "PREFERRED_LEADER_NOT_AVAILABLE", true},
	{ErrGroupMaxSizeReached, "GROUP_MAX_SIZE_REACHED", false},
	{ErrFencedInstanceID, "FENCED_INSTANCE_ID", false},
	{ErrEligibleLeadersNotAvailable, "ELIGIBLE_LEADERS_NOT_AVAILABLE", true},
	{ErrElectionNotNeeded, "ELECTION_NOT_NEEDED", true},
	{ErrNoReassignmentInProgress, "NO_REASSIGNMENT_IN_PROGRESS", false},
	{ErrGroupSubscribedToTopic, "GROUP_SUBSCRIBED_TO_TOPIC", false},
	{ErrInvalidRecord, "INVALID_RECORD", false},
	{ErrUnstableOffsetCommit, "UNSTABLE_OFFSET_COMMIT", true},
	{ErrThrottlingQuotaExceeded, "THROTTLING_QUOTA_EXCEEDED", true},
	{ErrProducerFenced, "PRODUCER_FENCED", false},
	{ErrResourceNotFound, "RESOURCE_NOT_FOUND", false},
	{ErrDuplicateResource, "DUPLICATE_RESOURCE", false},
	{ErrUnacceptableCredential, "UNACCEPTABLE_CREDENTIAL", false},
	{ErrInconsistentVoterSet, "INCONSISTENT_VOTER_SET", false},
	{ErrInvalidUpdateVersion, "INVALID_UPDATE_VERSION", false},
	{ErrFeatureUpdateFailed, "FEATURE_UPDATE_FAILED", false},
	{ErrPrincipalDeserializationFailure, "PRINCIPAL_DESERIALIZATION_FAILURE", false},
	{ErrSnapshotNotFound, "SNAPSHOT_NOT_FOUND", false},
	{ErrPositionOutOfRange, "POSITION_OUT_OF_RANGE", false},
	{ErrUnknownTopicID, "UNKNOWN_TOPIC_ID", true},
	{ErrDuplicateBrokerRegistration, "DUPLICATE_BROKER_REGISTRATION", false},
	{ErrBrokerIDNotRegistered, "BROKER_ID_NOT_REGISTERED", false},
	{ErrInconsistentTopicID, "INCONSISTENT_TOPIC_ID", true},
	{ErrInconsistentClusterID, "INCONSISTENT_CLUSTER_ID", false},
	{ErrTransactionalIDNotFound, "TRANSACTIONAL_ID_NOT_FOUND", false},
	{ErrFetchSessionTopicIDError, "FETCH_SESSION_TOPIC_ID_ERROR", true},
	{ErrIneligibleReplica, "INELIGIBLE_REPLICA", false},
	{ErrNewLeaderElected, "NEW_LEADER_ELECTED", false},
	{ErrOffsetMovedToTieredStorage, "OFFSET_MOVED_TO_TIERED_STORAGE", false},
	{ErrFencedMemberEpoch, "FENCED_MEMBER_EPOCH", false},
	{ErrUnreleasedInstanceID, "UNRELEASED_INSTANCE_ID", false},
	{ErrUnsupportedAssignor, "UNSUPPORTED_ASSIGNOR", false},
	{ErrStaleMemberEpoch, "STALE_MEMBER_EPOCH", false},
	{ErrMismatchedEndpointType, "MISMATCHED_ENDPOINT_TYPE", false},
	{ErrUnsupportedEndpointType, "UNSUPPORTED_ENDPOINT_TYPE", false},
	{ErrUnknownControllerID, "UNKNOWN_CONTROLLER_ID", false},
	{ErrUnknownSubscriptionID, "UNKNOWN_SUBSCRIPTION_ID", false},
	{ErrTelemetryTooLarge, "TELEMETRY_TOO_LARGE", false},
	{ErrInvalidRegistration, "INVALID_REGISTRATION", false},
	{ErrTransactionAbortable, "TRANSACTION_ABORTABLE", false},
	{ErrInvalidRecordState, "INVALID_RECORD_STATE", false},
	{ErrShareSessionNotFound, "SHARE_SESSION_NOT_FOUND", true},
	{ErrInvalidShareSessionEpoch, "INVALID_SHARE_SESSION_EPOCH", true},
	{ErrFencedStateEpoch, "FENCED_STATE_EPOCH", false},
	{ErrInvalidVoterKey, "INVALID_VOTER_KEY", false},
	{ErrDuplicateVoter, "DUPLICATE_VOTER", false},
	{ErrVoterNotFound, "VOTER_NOT_FOUND", false},
	{ErrInvalidRegularExpression, "INVALID_REGULAR_EXPRESSION", false},
}

var (
	// errorCodeDense is errorCodeTable laid out densely by code: the entry
	// for code c is at index c-errorCodeDenseBase. Entries with an empty name
	// are gaps (unknown codes).
	errorCodeDense, errorCodeDenseBase = buildErrorCodeDense()

	errorCodesByName = buildErrorCodesByName()
)

func buildErrorCodeDense() ([]errorCodeInfo, ErrorCode) {
	lo, hi := errorCodeTable[0].code, errorCodeTable[len(errorCodeTable)-1].code
	dense := make([]errorCodeInfo, int(hi)-int(lo)+1)
	for i, e := range errorCodeTable {
		if i > 0 && e.code <= errorCodeTable[i-1].code {
			panic("protocol: error code table not strictly ascending at " + e.name)
		}
		dense[e.code-lo] = e
	}
	return dense, lo
}

func buildErrorCodesByName() map[string]ErrorCode {
	m := make(map[string]ErrorCode, len(errorCodeTable))
	for _, e := range errorCodeTable {
		if _, dup := m[e.name]; dup {
			panic("protocol: duplicate error code name " + e.name)
		}
		m[e.name] = e.code
	}
	return m
}

// lookup returns the table entry for c, or nil if c is not a known code.
func (c ErrorCode) lookup() *errorCodeInfo {
	i := int(c) - int(errorCodeDenseBase)
	if i < 0 || i >= len(errorCodeDense) || errorCodeDense[i].name == "" {
		return nil
	}
	return &errorCodeDense[i]
}

// Name returns Kafka's constant name for the code, such as
// "UNKNOWN_TOPIC_OR_PARTITION". For an unknown code it returns
// "UNKNOWN_ERROR_CODE_<n>".
func (c ErrorCode) Name() string {
	if e := c.lookup(); e != nil {
		return e.name
	}
	return "UNKNOWN_ERROR_CODE_" + strconv.Itoa(int(c))
}

// Retriable reports whether Kafka classifies the code as retriable, that is,
// whether a client may retry the request unchanged and expect it to succeed
// eventually. Unknown codes and ErrNone are not retriable.
func (c ErrorCode) Retriable() bool {
	if e := c.lookup(); e != nil {
		return e.retriable
	}
	return false
}

// Known reports whether the code is in the table (ErrNone included).
func (c ErrorCode) Known() bool {
	return c.lookup() != nil
}

// Error returns the code's name and number, such as
// "UNKNOWN_TOPIC_OR_PARTITION (3)".
func (c ErrorCode) Error() string {
	return c.Name() + " (" + strconv.Itoa(int(c)) + ")"
}

// ErrorCodes returns every known code, ErrNone included, in ascending order.
// The caller owns the returned slice.
func ErrorCodes() []ErrorCode {
	codes := make([]ErrorCode, len(errorCodeTable))
	for i, e := range errorCodeTable {
		codes[i] = e.code
	}
	return codes
}

// ErrorCodeByName returns the code whose Kafka constant name is exactly name
// (for example "NOT_COORDINATOR"), and whether there is one.
func ErrorCodeByName(name string) (ErrorCode, bool) {
	c, ok := errorCodesByName[name]
	return c, ok
}
