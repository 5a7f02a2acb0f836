// What the group snapshot requests of the API carry: a snapshot of every machine on one network,
// taken at one point, listed as one entry (verified, or broken with the reason).

/** One machine of a group snapshot, as its manifest records it. */
export interface GroupSnapshotMember {
  machine: string;
  /** The member's snapshot file in its machine's snapshot folder. */
  file: string;
  /** Its guest slot on the host and its peer slot on the network (both taken again at restore). */
  guestId: number;
  peerSlot: number;
  mac: string;
  /** SHA-256 of the member's file as written (hex). */
  sha256: string;
}

/** The group manifest: which member files make up the group. */
export interface GroupSnapshotManifest {
  kind: 'lguest-group-snapshot';
  version: 1;
  network: string;
  /** Wall-clock time the group was taken (ISO 8601). */
  createdAt: string;
  members: GroupSnapshotMember[];
}

/** A member as a listing shows it: its manifest entry, and whether its file is intact. */
export interface GroupSnapshotMemberListing {
  machine: string;
  file: string;
  guestId: number;
  peerSlot: number;
  mac: string;
  verified: boolean;
  /** Why the member's file cannot be used (missing, changed since the group was taken, corrupt). */
  error?: string;
  instructionCount?: number;
  /** The last lines of the member's console before the snapshot. */
  lastLines?: string[];
}

/** One group snapshot: listed once, for all its members. A broken group is listed with its reason. */
export interface GroupSnapshotListing {
  /** The manifest's file name in the workbench's group snapshot folder (<network>-<time>.lggroup). */
  file: string;
  /** True when the manifest and every member file were read and checked. */
  verified: boolean;
  /** Why the group cannot be restored (the manifest or a member is missing, changed or corrupt). */
  error?: string;
  network?: string;
  createdAt?: string;
  members: GroupSnapshotMemberListing[];
}
