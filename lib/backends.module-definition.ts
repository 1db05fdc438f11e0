import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { BackendsModuleOptions } from './backends-options.interface.js';

/** Built by Nest's ConfigurableModuleBuilder: `forRoot` / `forRootAsync` with an `isGlobal` extra. */
export const {
  ConfigurableModuleClass: ConfigurableBackendsModule,
  MODULE_OPTIONS_TOKEN: BACKENDS_MODULE_OPTIONS,
  OPTIONS_TYPE: BACKENDS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: BACKENDS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<BackendsModuleOptions>({ moduleName: 'Backends' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createBackendsOptions')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
