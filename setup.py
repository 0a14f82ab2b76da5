"""Installs the I3D modules (Carreira & Zisserman, CVPR 2017) for TF2/Sonnet 2.

The repository keeps the flat layout of DeepMind's kinetics-i3d: every module
is a top-level file, installed as a top-level module (`import i3d`).
"""

import setuptools

_MODULES = [
    'assets',
    'atomic_files',
    'beam_pipeline',
    'checkpoints',
    'evaluate_sample',
    'extract_features',
    'fast_inference',
    'i3d',
    'inception_v1',
    'inflate',
    'preprocess',
    'reference_forward',
    'train',
    'train_data',
]

setuptools.setup(
    name='i3d-tf2',
    version='1.0.0',
    description=('Inflated 3D ConvNets (I3D) for TF2 and Sonnet 2, loading '
                 "DeepMind's kinetics-i3d checkpoints unchanged."),
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    py_modules=_MODULES,
    install_requires=[
        'absl-py>=1.0',
        'av>=11.0',
        'dm-sonnet>=2.0.2',
        'dm-tree>=0.1.8',
        'numpy>=1.23',
        'opencv-contrib-python-headless>=4.8',
        'pillow>=9.0',
        'tensorflow>=2.15',
        'ml-collections>=1.0',
        'tqdm>=4.60',
    ],
    extras_require={
        'beam': ['apache-beam>=2.77'],
        'test': ['pytest>=7.0'],
    },
)
