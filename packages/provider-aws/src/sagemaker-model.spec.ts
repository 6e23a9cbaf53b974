import { describe, expect, it } from 'vitest';
import { ModelportError } from '@modelport/core';
import { modelResource, servingImage } from './sagemaker-model.js';
import type { AwsSettings } from './settings.js';

const settings = {
  name: 'iris',
  region: 'eu-west-1',
  roleArn: 'arn:aws:iam::123456789012:role/modelport',
  subnets: [],
  securityGroups: [],
} as unknown as AwsSettings;

describe('servingImage', () => {
  it('uses spec.model.image when given', () => {
    expect(servingImage('my/image:1', 'onnx', settings)).toBe('my/image:1');
  });
  it("defaults ONNX models to the portable serving image in the execution role's account ECR", () => {
    expect(servingImage(undefined, 'onnx', settings)).toBe(
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/modelport-serving:0.1.0',
    );
  });
  it('refuses other formats without an image', () => {
    expect(() => servingImage(undefined, 'container', settings)).toThrow(ModelportError);
  });
});

describe('modelResource', () => {
  it('tells the serving image where SageMaker puts the model and what to call it', () => {
    const model = modelResource(
      settings,
      'img',
      { modelFile: 'model.onnx' } as never,
      { MODELPORT_TIMEOUT_S: '60' },
      undefined,
    );
    expect(model.properties['environment']).toEqual({
      MODELPORT_MODEL: '/opt/ml/model/model.onnx',
      MODELPORT_MODEL_NAME: 'iris',
      MODELPORT_TIMEOUT_S: '60',
    });
  });
});
