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
  const environment = (data: object): unknown =>
    modelResource(settings, 'img', data as never, { MODELPORT_TIMEOUT_S: '60' }, undefined).properties[
      'environment'
    ];

  it('tells the serving image where SageMaker puts the model and what to call it', () => {
    // A packed local model: model.tar.gz holds the model and its signature.json, extracted into /opt/ml/model.
    expect(
      environment({ modelDataUrl: 's3://b/a/model.tar.gz', modelFile: 'model.onnx', upload: {} }),
    ).toEqual({
      MODELPORT_MODEL: '/opt/ml/model',
      MODELPORT_MODEL_NAME: 'iris',
      MODELPORT_TIMEOUT_S: '60',
    });
  });

  it("always names /opt/ml/model for a user's model.tar.gz, so the image never serves its baked model (A4)", () => {
    expect(environment({ modelDataUrl: 's3://b/models/iris/model.tar.gz' })).toMatchObject({
      MODELPORT_MODEL: '/opt/ml/model',
    });
  });

  it('names the file of an uncompressed object, and the folder of a prefix', () => {
    expect(environment({ uncompressedUri: 's3://b/m/iris.onnx', modelFile: 'iris.onnx' })).toMatchObject({
      MODELPORT_MODEL: '/opt/ml/model/iris.onnx',
    });
    expect(environment({ uncompressedUri: 's3://b/m/iris/' })).toMatchObject({
      MODELPORT_MODEL: '/opt/ml/model',
    });
  });

  it('sets no model path when the manifest names no model data (the image serves its own)', () => {
    expect(environment({})).not.toHaveProperty('MODELPORT_MODEL');
  });
});
