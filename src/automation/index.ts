export type { ContainerTables, ContainerTable, ArtifactTable } from './container.table.ts';
export {
  createContainer,
  addArtifact,
  type NewContainer,
  type NewArtifact,
  type CreateContainerResult,
  type ArtifactResult,
} from './container.repository.ts';
