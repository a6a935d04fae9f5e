export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

export const imageManifestTypes = new Set([OCI_MANIFEST, DOCKER_MANIFEST]);
export const indexTypes = new Set([OCI_INDEX, DOCKER_MANIFEST_LIST]);
