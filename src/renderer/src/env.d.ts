import type { IommuLabBridge } from '../../shared/bridge';

declare global {
  interface Window {
    /** present only inside Electron (set by the preload) */
    iommuLab?: IommuLabBridge;
  }
}
